"""Names of a London borough's residents: naming traditions, short forms and spelling variants.

Each :class:`Tradition` holds given names by sex (British and Irish ones also by generation),
family names, and the rules that make its names hard to match: Polish, Bulgarian and Greek
family names change form for women; Bangladeshi women often use Begum or Khatun instead of
a family name; Sikh men and women carry Singh and Kaur, which systems sometimes hold as the
surname; Somali children's "surname" is their father's given name; Spanish and Portuguese
residents often have two surnames; East Asian names are often recorded in either order.

Lists are ordered roughly from common to rare and drawn with Zipf-like weights. ``_`` in a
name stands for a space (``De_Luca``, ``Ka_Wai``).

Short forms are a small hand-made table of forms a UK clerk meets, not the ``nicknames``
package: that table is American and historical (it maps Aaron to Erin), and lacks the
short forms of Nigerian, Polish and Arabic names that London systems hold.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate


def _names(text: str) -> tuple[str, ...]:
    return tuple(word.replace("_", " ") for word in text.split())


@dataclass(frozen=True, slots=True)
class Pool:
    """Names with cumulative Zipf-like weights, drawn in O(log n)."""

    names: tuple[str, ...]
    cumulative: tuple[float, ...]

    @classmethod
    def of(cls, text: str, flatness: float = 4.0) -> Pool:
        names = _names(text)
        weights = [1.0 / (rank + flatness) for rank in range(len(names))]
        return cls(names, tuple(accumulate(weights)))

    def draw(self, rng: random.Random) -> str:
        return rng.choices(self.names, cum_weights=self.cumulative, k=1)[0]


@dataclass(frozen=True, slots=True)
class Tradition:
    """One naming tradition of the borough's population."""

    key: str
    weight: float  # share of households
    male: Pool
    female: Pool
    surnames: Pool
    male_older: Pool | None = None  # given names of people born before 1975, where different
    female_older: Pool | None = None
    middle_name_rate: float = 0.5
    feminine: Callable[[str], str] = lambda surname: surname
    email_ascii: bool = True

    def given(self, rng: random.Random, sex: str, born: int) -> str:
        if sex == "F":
            pool = self.female_older if born < 1975 and self.female_older else self.female
        else:
            pool = self.male_older if born < 1975 and self.male_older else self.male
        return pool.draw(rng)


def _slavic_feminine(surname: str) -> str:
    for ending, female in (("dzki", "dzka"), ("cki", "cka"), ("ski", "ska")):
        if surname.endswith(ending):
            return surname[: -len(ending)] + female
    return surname


def _bulgarian_feminine(surname: str) -> str:
    return surname + "a" if surname.endswith(("ov", "ev")) else surname


def _greek_feminine(surname: str) -> str:
    for ending, female in (
        ("opoulos", "opoulou"),
        ("akis", "aki"),
        ("idis", "idou"),
        ("os", "ou"),
        ("is", "i"),
        ("as", "a"),
    ):
        if surname.endswith(ending):
            return surname[: -len(ending)] + female
    return surname


BRITISH = Tradition(
    key="british",
    weight=0.49,
    male=Pool.of(
        "Oliver George Harry Jack Jacob Noah Charlie Thomas Oscar William James Leo Alfie Henry "
        "Joshua Freddie Archie Ethan Isaac Alexander Joseph Edward Samuel Max Daniel Logan Lucas "
        "Theo Arthur Benjamin Adam Luke Matthew Ryan Callum Liam Connor Lewis Nathan Jordan "
        "Kieran Jamie Dylan Tyler Reece Aaron Ben Sam Toby Finley Elliot Harvey Sebastian Reuben "
        "Rory Jake Michael David Christopher Andrew Robert Richard John Mark Stephen Jonathan "
        "Nicholas Timothy Patrick Matthew Philip Gareth Rhys Owen Dafydd Craig Scott Stuart"
    ),
    female=Pool.of(
        "Olivia Amelia Isla Ava Emily Sophia Grace Mia Poppy Ella Lily Evie Isabella Sophie Ivy "
        "Freya Harper Willow Charlotte Jessica Chloe Lucy Hannah Rebecca Laura Emma Amy Rachel "
        "Lauren Katie Holly Megan Bethany Jade Leah Georgia Abigail Eleanor Alice Daisy Phoebe "
        "Ruby Matilda Florence Scarlett Victoria Samantha Natalie Stephanie Gemma Kirsty Hayley "
        "Nicola Kelly Louise Claire Joanna Catherine Elizabeth Sarah Zoe Rosie Imogen Esme "
        "Harriet Jennifer Alexandra Katherine Frances Caroline Helen Rhiannon Ffion Eilidh"
    ),
    male_older=Pool.of(
        "John David Michael Peter Robert Paul Stephen Richard Christopher Anthony Mark William "
        "James Andrew Kenneth Brian Ronald George Alan Terence Raymond Keith Colin Derek "
        "Geoffrey Roger Malcolm Graham Trevor Barry Philip Edward Charles Dennis Leonard "
        "Frederick Gerald Norman Stanley Ian Martin Timothy Nigel Gary Kevin Neil Simon Thomas "
        "Frank Arthur Albert Harold Ernest Roy Victor Douglas Gordon Lawrence Bernard Clive"
    ),
    female_older=Pool.of(
        "Margaret Patricia Susan Elizabeth Mary Jean Barbara Linda Christine Janet Carol Sandra "
        "Pauline Jennifer Valerie Dorothy Joan Shirley Brenda Sheila Maureen Kathleen Ann Anne "
        "Julie Karen Deborah Gillian Jacqueline Diane Lesley Helen Alison Catherine Joyce Irene "
        "Doris Eileen Marion Rosemary Judith Frances Wendy Angela Jane Sarah Teresa Veronica "
        "Gwendoline Hazel Beryl Sylvia Josephine Elaine Yvonne Rita Marjorie Audrey Vera Peggy"
    ),
    surnames=Pool.of(
        "Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson "
        "Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Jackson Wood "
        "Turner Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen "
        "James Scott Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell Kelly "
        "Cook Carter Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Marshall "
        "Anderson Simpson Ellis Adams Wilkinson Foster Chapman Powell Webb Rogers Gray Mason "
        "Hunt Campbell Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler Russell "
        "Barker Fisher Stevens Jenkins Murray Dixon Harvey Graham Pearson Fletcher Walsh Gibson "
        "Howard Andrews Stewart Elliott Reynolds Saunders Payne Fox Ford Pearce Day Brooks West "
        "Lawrence Cole Atkinson Bradley Spencer Gill Dawson Ball Burton Watts Rose Booth Perry "
        "Grant Wells Armstrong Francis Rees Hayes Hart Hudson Newman Barrett Webster Hunter "
        "Gregory Carr Lowe Page Marsh Riley Dunn Woods Parsons Berry Stone Reid Holland Hawkins "
        "Harding Porter Robertson Newton Oliver Reed Kennedy Williamson Bird Gardner Dean Lane "
        "Cooke Bates Henderson Parry Burgess Bishop Walton Burns Nicholson Shepherd Ross Cross "
        "Long Freeman Warren Nicholls Hamilton Sutton McDonald Yates Hodgson Robson Curtis "
        "Hopkins Harper Coleman Watkins Moss Chambers Hammond MacDonald McKenzie Fraser Sinclair "
        "Pritchard Bowen Vaughan Howells Llewellyn Thomson Matheson Buchanan Drummond Ferguson",
        flatness=8.0,
    ),
    middle_name_rate=0.65,
)

IRISH = Tradition(
    key="irish",
    weight=0.04,
    male=Pool.of(
        "Seán Jack James Conor Cian Oisín Patrick Liam Darragh Michael Daniel Ciarán Eoin Niall "
        "Tadhg Fionn Ronan Aidan Cormac Shane Kevin Declan Colm Padraig Cathal Rory Dara Odhrán"
    ),
    female=Pool.of(
        "Aoife Niamh Saoirse Ciara Orla Róisín Sinéad Aisling Caoimhe Emma Grace Sophie Ella "
        "Clodagh Maeve Éabha Sadhbh Erin Ailbhe Áine Siobhán Gráinne Eimear Fiadh Katie Lucy"
    ),
    male_older=Pool.of(
        "John Patrick Michael Seán James Thomas Joseph Brendan Kevin Dermot Eamon Noel Gerard "
        "Declan Martin Liam Donal Fergal Colm Finbar Peter Francis Denis Padraig Christopher"
    ),
    female_older=Pool.of(
        "Mary Margaret Bridget Kathleen Teresa Catherine Anne Eileen Patricia Siobhán Deirdre "
        "Maureen Nuala Máire Bernadette Geraldine Philomena Fionnuala Sinéad Úna Catriona Nora"
    ),
    surnames=Pool.of(
        "Murphy Kelly O'Sullivan Walsh O'Brien Byrne Ryan O'Connor O'Neill O'Reilly Doyle "
        "McCarthy Gallagher O'Doherty Kennedy Lynch Murray Quinn Moore McLoughlin O'Carroll "
        "Connolly Daly O'Connell Dunne Brennan Burke Collins Fitzgerald Maguire Nolan Flynn "
        "O'Callaghan O'Donnell Duffy O'Mahony Boyle Healy O'Shea Sweeney Kavanagh Power "
        "McGrath Moran Brady Casey Foley Fitzpatrick O'Leary McDonnell Donnelly Regan Donovan "
        "Flanagan Mullan Barry Kane Cunningham Griffin Kenny Sheehan Whelan Lyons Higgins Cullen "
        "Keane Maher McKenna Hogan O'Keeffe Magee McNamara MacMahon Moloney O'Rourke Buckley",
        flatness=6.0,
    ),
    middle_name_rate=0.6,
)

POLISH = Tradition(
    key="polish",
    weight=0.035,
    male=Pool.of(
        "Piotr Krzysztof Andrzej Tomasz Paweł Michał Marcin Jakub Adam Łukasz Mateusz Marek "
        "Grzegorz Jan Wojciech Kamil Maciej Dariusz Rafał Szymon Bartosz Robert Przemysław "
        "Sebastian Mariusz Dawid Filip Kacper Antoni Jacek Zbigniew Stanisław Aleksander"
    ),
    female=Pool.of(
        "Anna Katarzyna Maria Małgorzata Agnieszka Barbara Ewa Krystyna Magdalena Elżbieta "
        "Joanna Aleksandra Monika Zofia Natalia Justyna Karolina Marta Julia Beata Dorota "
        "Paulina Weronika Alicja Oliwia Zuzanna Maja Hanna Lena Martyna Kinga Iwona"
    ),
    surnames=Pool.of(
        "Nowak Kowalski Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski Zieliński Szymański "
        "Woźniak Dąbrowski Kozłowski Jankowski Mazur Kwiatkowski Wojciechowski Krawczyk "
        "Kaczmarek Piotrowski Grabowski Zając Pawłowski Michalski Król Wieczorek Jabłoński "
        "Wróbel Nowakowski Majewski Olszewski Stępień Malinowski Jaworski Adamczyk Dudek "
        "Nowicki Pawlak Górski Witkowski Walczak Sikora Baran Rutkowski Michalak Szewczyk "
        "Ostrowski Tomaszewski Pietrzak Marciniak Wróblewski Zalewski Jakubowski Zawadzki"
    ),
    middle_name_rate=0.15,
    feminine=_slavic_feminine,
)

ROMANIAN = Tradition(
    key="romanian",
    weight=0.02,
    male=Pool.of(
        "Andrei Alexandru Ionuț Mihai Florin Daniel Marius Gabriel Adrian Cristian Constantin "
        "Vasile Ion Nicolae Gheorghe Ștefan Bogdan Cătălin Sorin Răzvan Vlad Darius David Luca "
        "Matei Radu Ciprian Dumitru"
    ),
    female=Pool.of(
        "Maria Elena Ioana Andreea Mihaela Ana Cristina Alexandra Gabriela Daniela Roxana Alina "
        "Elisabeta Florentina Georgiana Adriana Simona Ramona Nicoleta Larisa Bianca Denisa "
        "Sofia Antonia Irina Raluca Oana Teodora"
    ),
    surnames=Pool.of(
        "Popescu Ionescu Popa Radu Dumitru Stan Stoica Gheorghe Matei Constantin Marin Tudor "
        "Dobre Barbu Nistor Florea Ene Dinu Georgescu Munteanu Lungu Rusu Moldovan Ciobanu "
        "Mocanu Stoian Toma Lazăr Oprea Diaconu Vasile Cristea Preda Neagu Sandu Bălan"
    ),
    middle_name_rate=0.2,
)

BULGARIAN = Tradition(
    key="bulgarian",
    weight=0.01,
    male=Pool.of(
        "Georgi Ivan Dimitar Nikolay Hristo Petar Stoyan Todor Aleksandar Vasil Yordan Angel "
        "Kaloyan Martin Boris Stefan Plamen Krasimir Lyubomir Emil"
    ),
    female=Pool.of(
        "Maria Ivanka Elena Yordanka Petya Desislava Gergana Tsvetelina Radostina Milena "
        "Svetlana Nadezhda Teodora Viktoria Kristina Galina Rositsa Silvia Aneliya Mariya"
    ),
    surnames=Pool.of(
        "Ivanov Georgiev Dimitrov Petrov Nikolov Hristov Stoyanov Todorov Iliev Vasilev "
        "Atanasov Petkov Angelov Kolev Yordanov Marinov Popov Stefanov Mihaylov Kostov"
    ),
    middle_name_rate=0.3,
    feminine=_bulgarian_feminine,
)

ITALIAN = Tradition(
    key="italian",
    weight=0.02,
    male=Pool.of(
        "Marco Giuseppe Giovanni Antonio Francesco Luca Alessandro Andrea Matteo Lorenzo Davide "
        "Stefano Paolo Roberto Salvatore Massimo Gianluca Simone Riccardo Federico Fabio Enzo "
        "Mario Pietro Tommaso"
    ),
    female=Pool.of(
        "Giulia Francesca Chiara Sara Anna Maria Giuseppina Alessandra Valentina Federica "
        "Martina Elena Laura Silvia Paola Roberta Sofia Aurora Giorgia Alice Beatrice Ilaria "
        "Simona Rosa Lucia"
    ),
    surnames=Pool.of(
        "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno Gallo "
        "Conti De_Luca Mancini Costa Giordano Rizzo Lombardi Moretti Barbieri Fontana Santoro "
        "Mariani Rinaldi Caruso Ferrara Galli Martini Leone Longo Gentile Martinelli Vitale "
        "Lombardo Serra Coppola De_Santis D'Angelo Marchetti Parisi Villa Conte Ferraro Fabbri "
        "Bianco Marini Grasso Valentini Messina Sala De_Angelis Gatti Pellegrini Palumbo"
    ),
    middle_name_rate=0.15,
)

PORTUGUESE = Tradition(
    key="portuguese",
    weight=0.015,
    male=Pool.of(
        "João José António Francisco Pedro Rui Tiago Miguel Paulo Carlos Manuel Luís Bruno "
        "Ricardo Diogo Gonçalo Rodrigo Nuno Hugo Sérgio Fernando Jorge Vítor Filipe"
    ),
    female=Pool.of(
        "Maria Ana Beatriz Mariana Inês Sofia Catarina Joana Rita Sara Carolina Marta Leonor "
        "Matilde Patrícia Cláudia Sandra Susana Teresa Fernanda Isabel Helena Paula Raquel"
    ),
    surnames=Pool.of(
        "Silva Santos Ferreira Pereira Oliveira Costa Rodrigues Martins Jesus Sousa Fernandes "
        "Gonçalves Gomes Lopes Marques Alves Almeida Ribeiro Pinto Carvalho Teixeira Moreira "
        "Correia Mendes Nunes Soares Vieira Monteiro Cardoso Rocha Neves Coelho Cruz Cunha "
        "Pires Ramos Reis Simões Antunes Matos Fonseca Machado Araújo Barbosa Tavares Castro"
    ),
    middle_name_rate=0.5,
)

SPANISH = Tradition(
    key="spanish",
    weight=0.015,
    male=Pool.of(
        "José Antonio Manuel Francisco David Juan Javier Daniel Carlos Jesús Alejandro Miguel "
        "Rafael Pablo Sergio Fernando Jorge Alberto Luis Álvaro Adrián Diego Hugo Mario Raúl"
    ),
    female=Pool.of(
        "María Carmen Ana Isabel Laura Cristina Marta Lucía Pilar Elena Sara Paula Raquel Rosa "
        "Patricia Beatriz Silvia Sofía Julia Alba Irene Nuria Andrea Teresa Mercedes"
    ),
    surnames=Pool.of(
        "García González Rodríguez Fernández López Martínez Sánchez Pérez Gómez Martín Jiménez "
        "Ruiz Hernández Díaz Moreno Muñoz Álvarez Romero Alonso Gutiérrez Navarro Torres "
        "Domínguez Vázquez Ramos Gil Ramírez Serrano Blanco Molina Morales Suárez Ortega "
        "Delgado Castro Ortiz Rubio Marín Sanz Núñez Iglesias Medina Garrido Cortés Castillo"
    ),
    middle_name_rate=0.3,
)

GREEK = Tradition(
    key="greek",
    weight=0.015,
    male=Pool.of(
        "Georgios Ioannis Konstantinos Dimitrios Nikolaos Panagiotis Vasileios Christos "
        "Athanasios Michail Evangelos Spyridon Andreas Alexandros Petros Stavros Theodoros "
        "Kostas Nikos Yiannis Costas Andrea Savvas Marios"
    ),
    female=Pool.of(
        "Maria Eleni Aikaterini Vasiliki Sofia Angeliki Georgia Dimitra Konstantina Paraskevi "
        "Anastasia Christina Ioanna Evangelia Despoina Chrysoula Panagiota Alexandra Theodora "
        "Eirini Androulla Kyriaki Stella"
    ),
    surnames=Pool.of(
        "Georgiou Papadopoulos Ioannou Christodoulou Konstantinou Charalambous Nikolaidis "
        "Papadakis Demetriou Antoniou Andreou Michailidis Pappas Karagiannis Oikonomou "
        "Papageorgiou Alexiou Makris Panagiotou Stavrou Kyriakou Hadjiyiannis Savvides "
        "Constantinou Christofi Michael Petrou Loizou Kyriacou Theodorou"
    ),
    middle_name_rate=0.1,
    feminine=_greek_feminine,
)

TURKISH = Tradition(
    key="turkish",
    weight=0.02,
    male=Pool.of(
        "Mehmet Mustafa Ahmet Ali Hüseyin Hasan İbrahim İsmail Osman Yusuf Murat Ömer Ramazan "
        "Halil Süleyman Abdullah Mahmut Emre Burak Can Kerem Emir Efe Arda Deniz"
    ),
    female=Pool.of(
        "Fatma Ayşe Emine Hatice Zeynep Elif Meryem Şerife Zehra Sultan Hanife Merve Havva "
        "Zeliha Esra Fadime Özlem Hülya Yasemin Ebru Defne Ecrin Nisa Aylin"
    ),
    surnames=Pool.of(
        "Yılmaz Kaya Demir Şahin Çelik Yıldız Yıldırım Öztürk Aydın Özdemir Arslan Doğan Kılıç "
        "Aslan Çetin Kara Koç Kurt Özkan Şimşek Polat Korkmaz Güneş Erdoğan Aktaş Yavuz Turan "
        "Ateş Tekin Bulut Avcı Keskin Güler Uçar"
    ),
    middle_name_rate=0.1,
)

BANGLADESHI = Tradition(
    key="bangladeshi",
    weight=0.08,
    male=Pool.of(
        "Mohammed Abdul Md Mohammad Muhammad Shahid Jamal Rafiq Abu Kamal Nazrul Faruk Shafiq "
        "Habib Rashid Anwar Mizanur Saiful Ashraf Aminul Jahangir Shamim Rubel Sohel Rahim Ayaan "
        "Zayn Ibrahim Yusuf Rayyan Ismail Hamza Arif Imran Tanvir Shakil Motin Mujibur Habibur "
        "Abdus Raihan Sabbir Foysal"
    ),
    female=Pool.of(
        "Fatima Shahana Ruksana Nasima Rahima Shamima Salma Jasmin Taslima Rehana Nazma Hasina "
        "Rokeya Sultana Parveen Shirin Farhana Sumaiya Tahmina Afia Nusrat Anika Maryam Aisha "
        "Ayesha Zara Inaya Hafsa Khadija Amina Halima Sabina Runa Mahmuda Lipi Shilpi Tasnim"
    ),
    surnames=Pool.of(
        "Uddin Miah Ahmed Rahman Hussain Ali Islam Khan Hoque Chowdhury Hossain Alom Ullah Mia "
        "Haque Karim Sarkar Akhtar Mahmud Kabir Rahim Malik Choudhury Talukdar Siddique Molla "
        "Sheikh Munshi"
    ),
    middle_name_rate=0.5,
)

PAKISTANI = Tradition(
    key="pakistani",
    weight=0.02,
    male=Pool.of(
        "Muhammad Mohammed Ahmed Ali Imran Asif Tariq Khalid Zafar Naveed Kamran Faisal Usman "
        "Bilal Hamza Adnan Waqas Zubair Shahzad Irfan Sajid Arshad Nadeem Javed Rizwan Zain "
        "Ayaan Yusuf Ibrahim Musa Haris Omar Umar Abdullah Junaid"
    ),
    female=Pool.of(
        "Fatima Ayesha Zainab Maryam Sana Saima Nadia Amna Rabia Samina Shazia Nazia Bushra "
        "Sadia Hina Farah Asma Noor Mehreen Khadija Iqra Aleena Eman Anaya Hafsa Zara Inaya "
        "Aaliyah Safa Kausar Parveen Shabana Rukhsana Tahira"
    ),
    surnames=Pool.of(
        "Khan Ahmed Ali Hussain Shah Iqbal Akhtar Mahmood Butt Malik Rashid Qureshi Raza "
        "Chaudhry Sheikh Mirza Javed Anwar Siddiqui Hassan Aslam Aziz Riaz Shahzad Abbasi Awan "
        "Bhatti Dar Mir Rehman Saleem Yousaf Zaman"
    ),
    middle_name_rate=0.3,
)

INDIAN = Tradition(
    key="indian",
    weight=0.035,
    male=Pool.of(
        "Rajesh Sanjay Amit Rahul Vijay Ravi Anil Sunil Ramesh Suresh Deepak Arjun Rohan Aarav "
        "Vivaan Krishna Dev Nikhil Vikram Dilip Kiran Nitin Pranav Aryan Ishaan Kabir Jay Neil "
        "Mihir Hitesh Mahesh Paresh Bharat Jayesh Ketan Sachin Pradeep Manoj Ashok Vinod"
    ),
    female=Pool.of(
        "Priya Anjali Pooja Neha Sunita Anita Kavita Meena Rekha Asha Shanti Deepa Nisha Divya "
        "Shreya Ananya Aanya Diya Isha Riya Sita Lakshmi Kiran Rani Bhavna Hetal Jyoti Komal "
        "Nila Pushpa Usha Hansa Daksha Mina Smita Vaishali Nirmala"
    ),
    surnames=Pool.of(
        "Patel Shah Sharma Gupta Kumar Mistry Parmar Joshi Mehta Desai Thakkar Modi Chauhan "
        "Solanki Rai Reddy Nair Menon Iyer Pillai Rao Verma Chopra Kapoor Malhotra Bhatt Pandya "
        "Lad Chudasama Vaghela Hirani Kotecha Lakhani Pabari Ruparelia Majithia Sethi Anand"
    ),
    middle_name_rate=0.45,
)

SIKH = Tradition(
    key="sikh",
    weight=0.01,
    male=Pool.of(
        "Harpreet Gurpreet Jaswinder Manpreet Kuldeep Sandeep Rajinder Harjit Amarjit Balwinder "
        "Gurdeep Jaspal Paramjit Sukhdev Davinder Harvinder Navdeep Arjan Gurveer Jasraj"
    ),
    female=Pool.of(
        "Harpreet Gurpreet Manjit Jaspreet Kiran Simran Jasleen Parminder Rajwinder Sukhwinder "
        "Harjinder Navneet Amandeep Gurleen Harleen Jasmeet Mandeep Baljit Kulwinder Amrit"
    ),
    surnames=Pool.of(
        "Sandhu Gill Sidhu Dhillon Grewal Bains Virdi Sohal Johal Randhawa Bhogal Sangha "
        "Kang Basra Atwal Heer Dhaliwal Mann Sahota Chahal"
    ),
    middle_name_rate=1.0,  # Singh / Kaur, set by the population builder
)

WEST_AFRICAN = Tradition(
    key="west_african",
    weight=0.05,
    male=Pool.of(
        "Oluwaseun Oluwafemi Adebayo Olumide Chukwuemeka Chinedu Emeka Obinna Ifeanyi "
        "Babatunde Kunle Ayodele Olusegun Kwame Kofi Kwabena Kwaku Yaw Kojo Samuel Emmanuel "
        "Daniel David Joshua Michael Victor Godwin Prince Ebenezer Isaac Oluwatobi Damilola "
        "Toluwani Chidi Uchenna Nnamdi Kelechi Adewale Gbenga Tobenna Chibuike Oluwadamilare"
    ),
    female=Pool.of(
        "Oluwaseyi Olufunmilayo Adaeze Chiamaka Ngozi Chioma Nkechi Ifeoma Folake Yetunde "
        "Bukola Titilayo Abimbola Adunni Temitope Omolara Abena Akosua Ama Efua Adwoa Yaa Esi "
        "Grace Blessing Joy Mercy Faith Precious Favour Esther Deborah Comfort Patience Gifty "
        "Ruth Peace Tobiloba Oyinkansola Chidinma Oluwakemi Moyosore"
    ),
    surnames=Pool.of(
        "Adeyemi Okafor Okeke Adebayo Oladipo Ogunleye Olawale Eze Nwosu Ibrahim Bello Adeleke "
        "Ogunbiyi Akinola Balogun Afolabi Nwachukwu Chukwu Obi Okonkwo Okoro Uzoma Mensah "
        "Asante Owusu Boateng Osei Agyeman Appiah Ofori Darko Acheampong Amponsah Adjei Addo "
        "Annan Quaye Tetteh Bonsu Antwi Sarpong Yeboah Ansah Badu Adesanya Oyewole Ajayi"
    ),
    middle_name_rate=0.7,
)

SOMALI = Tradition(
    key="somali",
    weight=0.025,
    male=Pool.of(
        "Mohamed Ahmed Abdi Ali Hassan Hussein Abdullahi Omar Yusuf Ismail Ibrahim Abdirahman "
        "Abdirizak Mahad Mustafe Farah Jama Warsame Osman Aden Nur Liban Guled Bashir Said "
        "Abdikarim Khalid Hamza Zakariye Yasin Sahal"
    ),
    female=Pool.of(
        "Fadumo Amina Hodan Sahra Halima Asha Ayan Hibo Sagal Nimco Ifrah Ubah Ladan Deeqa "
        "Filsan Hamdi Idil Khadra Maryan Safiya Sucdi Ruqiya Fartun Hawa Zamzam Najma Anisa "
        "Muna Xaawo"
    ),
    surnames=Pool.of(
        "Mohamed Ahmed Abdi Ali Hassan Hussein Farah Jama Warsame Osman Aden Nur Yusuf Omar "
        "Egal Ismail Elmi Dahir Gelle Hersi Abdulle Mohamud Shire Samatar Duale Mire Haji Noor "
        "Barre Ibrahim"
    ),
    middle_name_rate=0.6,  # the father's name; the grandfather's becomes the "surname"
)

CARIBBEAN = Tradition(
    key="caribbean",
    weight=0.035,
    male=Pool.of(
        "Marcus Andre Delroy Winston Clive Leroy Errol Lloyd Dwayne Tyrone Jermaine Kevin "
        "Trevor Devon Nathaniel Tyrell Kareem Jerome Desmond Everton Carlton Neville Wesley "
        "Curtis Reuben Malachi Isaiah Elijah Jayden Kai Reggie Lamar Aaron Joel Micah Zion"
    ),
    female=Pool.of(
        "Marcia Beverley Sharon Paulette Claudette Yvonne Hyacinth Gloria Pauline Janice "
        "Jacqueline Jasmine Shanice Tanisha Keisha Chantelle Aaliyah Jada Nia Kezia Imani Leah "
        "Naomi Simone Tiana Amani Maya Sade Zora Esme Amara Shereen Latoya"
    ),
    surnames=Pool.of(
        "Campbell Williams Brown Smith Clarke Francis Henry Grant Thomas Johnson Reid Morgan "
        "Robinson Gordon Bailey Lewis Thompson Walker Harris Edwards Allen James Forbes Wright "
        "Richards Stewart Gayle Beckford Bryan McKenzie Lindo Samuels Phillips Daley Graham "
        "Hamilton Murray Wilson Barrett Anderson Powell Green Spencer"
    ),
    middle_name_rate=0.6,
)

EAST_ASIAN = Tradition(
    key="east_asian",
    weight=0.03,
    male=Pool.of(
        "Wei Jun Hao Yang Lei Jie Tao Ming Qiang Bin Chao Feng Jian Hui Peng Xin Yu Zhiwei "
        "Jiahao Zihan Yichen Haoran Junjie Ka_Wai Siu_Ming Chi_Keung Wing_Hong Kevin Jason "
        "Eric Jacky Tony Vincent Raymond Kelvin"
    ),
    female=Pool.of(
        "Fang Jing Li Min Yan Hong Xiu Ying Mei Lan Hui Xiaoyan Yuting Xinyi Jiayi Yiran "
        "Wing_Yan Mei_Ling Siu_Wai Ka_Yee Pui_Man Wai_Ling Grace Jenny Cindy Vivian Winnie "
        "Joyce Michelle Amy Candy"
    ),
    surnames=Pool.of(
        "Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo He Lin Luo Gao "
        "Wong Chan Cheung Lau Lee Ng Ho Leung Chow Tang Lam Yip Tsang Yeung Fung Kwok Chu Ip Mak"
    ),
    middle_name_rate=0.05,
)

MIDDLE_EASTERN = Tradition(
    key="middle_eastern",
    weight=0.035,
    male=Pool.of(
        "Mohammed Ahmad Ali Omar Khaled Hassan Hussein Youssef Ibrahim Mahmoud Mustafa Karim "
        "Samir Tarek Walid Nabil Rami Fadi Bilal Hamza Adam Zakaria Amir Reza Hamid Dariush "
        "Farhad Kaveh Babak Arash Kamran Hiwa Rebwar Karzan Dilshad"
    ),
    female=Pool.of(
        "Fatima Mariam Layla Nour Yasmin Sara Rania Hala Dina Lina Amal Huda Salma Zainab Aisha "
        "Hana Rana Reem Samira Leila Shirin Parisa Maryam Narges Nazanin Roya Soraya Azadeh "
        "Shadi Jwan Avin Rozhin Shilan"
    ),
    surnames=Pool.of(
        "Hassan Ali Ahmed Mohammed Hussein Ibrahim Abdullah Mahmoud Saleh Khalil Nasser Haddad "
        "Mansour Yousef Farah Darwish Khoury Saad Aziz Hamdan Rahimi Ahmadi Hosseini Mohammadi "
        "Karimi Rezaei Moradi Jafari Sadeghi Hashemi Mousavi Amini Rostami Salih Qadir Rashid"
    ),
    middle_name_rate=0.2,
)

TRADITIONS: tuple[Tradition, ...] = (
    BRITISH,
    IRISH,
    POLISH,
    ROMANIAN,
    BULGARIAN,
    ITALIAN,
    PORTUGUESE,
    SPANISH,
    GREEK,
    TURKISH,
    BANGLADESHI,
    PAKISTANI,
    INDIAN,
    SIKH,
    WEST_AFRICAN,
    SOMALI,
    CARIBBEAN,
    EAST_ASIAN,
    MIDDLE_EASTERN,
)
TRADITION_WEIGHTS = tuple(accumulate(t.weight for t in TRADITIONS))
BY_KEY = {t.key: t for t in TRADITIONS}
# Traditions whose residents usually have two surnames (paternal and maternal).
TWO_SURNAMES = frozenset({"spanish", "portuguese"})
# Traditions whose couples sometimes combine surnames with a hyphen.
DOUBLE_BARRELLING = frozenset({"british", "irish", "caribbean"})


def draw_tradition(rng: random.Random) -> Tradition:
    return rng.choices(TRADITIONS, cum_weights=TRADITION_WEIGHTS, k=1)[0]


# Short forms a resident gives or a clerk writes, by the formal name (lower case).
SHORT_FORMS: dict[str, tuple[str, ...]] = {
    "robert": ("Bob", "Rob", "Bobby", "Robbie"),
    "margaret": ("Peggy", "Maggie", "Meg", "Margo"),
    "william": ("Bill", "Will", "Billy", "Liam"),
    "elizabeth": ("Liz", "Beth", "Lizzie", "Betty", "Eliza"),
    "james": ("Jim", "Jimmy", "Jamie"),
    "john": ("Jack", "Johnny"),
    "richard": ("Rich", "Rick", "Dick", "Richie"),
    "edward": ("Ed", "Eddie", "Ted", "Ned"),
    "thomas": ("Tom", "Tommy"),
    "michael": ("Mike", "Mick", "Mickey"),
    "christopher": ("Chris", "Kit"),
    "anthony": ("Tony", "Ant"),
    "daniel": ("Dan", "Danny"),
    "david": ("Dave", "Davey"),
    "joseph": ("Joe", "Joey"),
    "matthew": ("Matt",),
    "nicholas": ("Nick", "Nicky"),
    "patrick": ("Pat", "Paddy"),
    "peter": ("Pete",),
    "samuel": ("Sam", "Sammy"),
    "stephen": ("Steve",),
    "alexander": ("Alex", "Sandy"),
    "andrew": ("Andy", "Drew"),
    "benjamin": ("Ben", "Benny"),
    "charles": ("Charlie", "Chas"),
    "frederick": ("Fred", "Freddie"),
    "henry": ("Harry", "Hal"),
    "jonathan": ("Jon", "Jonny"),
    "kenneth": ("Ken", "Kenny"),
    "lawrence": ("Larry", "Laurie"),
    "leonard": ("Len", "Lenny"),
    "gerald": ("Gerry",),
    "philip": ("Phil", "Pip"),
    "raymond": ("Ray",),
    "ronald": ("Ron", "Ronnie"),
    "stanley": ("Stan",),
    "terence": ("Terry",),
    "timothy": ("Tim",),
    "victor": ("Vic",),
    "gordon": ("Gordy",),
    "douglas": ("Doug", "Dougie"),
    "catherine": ("Cathy", "Kate", "Katie", "Cat"),
    "katherine": ("Kate", "Kathy", "Katie"),
    "kathleen": ("Kath", "Kathy"),
    "jennifer": ("Jen", "Jenny"),
    "rebecca": ("Becky", "Becca"),
    "susan": ("Sue", "Susie"),
    "deborah": ("Debbie", "Deb"),
    "patricia": ("Pat", "Trish", "Patsy"),
    "victoria": ("Vicky", "Tori"),
    "jacqueline": ("Jackie",),
    "christine": ("Chris", "Chrissie"),
    "abigail": ("Abby", "Abi"),
    "alexandra": ("Alex", "Sasha", "Lexi"),
    "samantha": ("Sam", "Sammy"),
    "rosemary": ("Rosie",),
    "dorothy": ("Dot", "Dottie"),
    "eleanor": ("Ellie", "Nell"),
    "isabella": ("Bella", "Izzy"),
    "josephine": ("Jo", "Josie"),
    "mary": ("Molly", "Polly"),
    "valerie": ("Val",),
    "frances": ("Fran", "Frankie"),
    "charlotte": ("Lottie", "Charlie"),
    "natalie": ("Nat",),
    "olivia": ("Liv", "Livvy"),
    "jessica": ("Jess",),
    "stephanie": ("Steph",),
    "gillian": ("Gill",),
    "jacob": ("Jake",),
    "joshua": ("Josh",),
    "nathaniel": ("Nate", "Nat"),
    "bridget": ("Biddy",),
    "kimberley": ("Kim",),
    "teresa": ("Tess", "Terri"),
    "seán": ("Shaun",),
    "padraig": ("Paddy",),
    "siobhán": ("Shiv",),
    "mohammed": ("Mo",),
    "muhammad": ("Mo",),
    "mohamed": ("Mo",),
    "abdullahi": ("Abdi",),
    "abdirahman": ("Abdi",),
    "oluwaseun": ("Seun",),
    "oluwafemi": ("Femi",),
    "olufunmilayo": ("Funmi", "Funmilayo"),
    "oluwaseyi": ("Seyi",),
    "babatunde": ("Tunde",),
    "olumide": ("Mide",),
    "chukwuemeka": ("Emeka",),
    "temitope": ("Tope",),
    "abimbola": ("Bimbo",),
    "oyinkansola": ("Oyin",),
    "tobiloba": ("Tobi",),
    "oluwatobi": ("Tobi",),
    "olusegun": ("Segun",),
    "titilayo": ("Titi",),
    "oluwakemi": ("Kemi",),
    "oluwadamilare": ("Dami", "Damilare"),
    "damilola": ("Dami",),
    "chiamaka": ("Amaka",),
    "ifeoma": ("Ify",),
    "moyosore": ("Moyo",),
    "małgorzata": ("Gosia",),
    "katarzyna": ("Kasia",),
    "aleksander": ("Olek",),
    "wojciech": ("Wojtek",),
    "grzegorz": ("Grzesiek",),
    "agnieszka": ("Aga",),
    "joanna": ("Asia", "Jo"),
    "magdalena": ("Magda",),
    "tomasz": ("Tomek",),
    "piotr": ("Piotrek",),
    "aleksandra": ("Ola",),
    "konstantinos": ("Kostas", "Costas"),
    "ioannis": ("Yiannis", "John"),
    "georgios": ("George",),
    "nikolaos": ("Nikos", "Nick"),
    "dimitrios": ("Jim", "Dimitri"),
    "aikaterini": ("Katerina", "Kate"),
    "alessandro": ("Alex",),
    "giuseppe": ("Peppe", "Joe"),
    "francesco": ("Franco",),
    "francisco": ("Paco", "Chico"),
    "josé": ("Pepe",),
    "alejandro": ("Alex",),
    "hüseyin": ("Huseyin",),
    "mehmet": ("Memet",),
    "abdul": ("Abdi",),
    "rajesh": ("Raj",),
    "harpreet": ("Harry", "Preet"),
    "gurpreet": ("Gary", "Preet"),
    "jaswinder": ("Jas",),
    "kuldeep": ("Kul",),
    "manpreet": ("Manny",),
    "vikram": ("Vik",),
}

# Other accepted spellings of the same name (both ways where it is natural).
SPELLINGS: dict[str, tuple[str, ...]] = {
    "mohammed": ("Muhammad", "Mohammad", "Mohamed", "Muhammed", "Mohamad", "Mohd"),
    "muhammad": ("Mohammed", "Muhammed", "Mohammad"),
    "mohamed": ("Mohammed", "Mohamad", "Maxamed"),
    "mohammad": ("Mohammed", "Muhammad"),
    "md": ("Mohammed", "Mohammad"),
    "ahmed": ("Ahmad", "Ahmet"),
    "ahmad": ("Ahmed",),
    "hussain": ("Hussein", "Husain", "Hossain"),
    "hussein": ("Hussain", "Husein", "Xuseen"),
    "hossain": ("Hussain", "Hosain"),
    "yusuf": ("Yousuf", "Yusef", "Yousef"),
    "yousef": ("Yusuf", "Youssef"),
    "youssef": ("Yousef", "Yusuf"),
    "fatima": ("Fatimah", "Fatema"),
    "aisha": ("Ayesha", "Aishah"),
    "ayesha": ("Aisha", "Aysha"),
    "rahman": ("Rehman", "Rahaman"),
    "rehman": ("Rahman",),
    "uddin": ("Udin", "Uddeen"),
    "chowdhury": ("Choudhury", "Chowdhry", "Chaudhry"),
    "choudhury": ("Chowdhury",),
    "chaudhry": ("Chaudhary", "Choudhry"),
    "miah": ("Mia", "Meah"),
    "hoque": ("Haque", "Hoq"),
    "haque": ("Hoque", "Huq"),
    "alom": ("Alam",),
    "mustafa": ("Mostafa", "Mustapha"),
    "abdullah": ("Abdulla",),
    "abdullahi": ("Abdulahi",),
    "abdi": ("Abdy",),
    "fadumo": ("Faduma", "Fatuma"),
    "aden": ("Adan",),
    "nur": ("Noor",),
    "noor": ("Nur",),
    "mohamud": ("Mahmoud", "Mohamoud"),
    "mahmoud": ("Mahmud", "Mohamud"),
    "zainab": ("Zaynab",),
    "maryam": ("Mariam", "Miriam"),
    "mariam": ("Maryam",),
    "ibrahim": ("Ebrahim", "Ibraheem"),
    "ismail": ("Ismael", "Ismaeel"),
    "khadija": ("Khadijah", "Khadeeja"),
    "halima": ("Halimah",),
    "sahra": ("Sahrah",),
    "catherine": ("Katherine", "Kathryn"),
    "katherine": ("Catherine", "Kathryn"),
    "stephen": ("Steven",),
    "steven": ("Stephen",),
    "philip": ("Phillip",),
    "geoffrey": ("Jeffrey",),
    "ann": ("Anne",),
    "anne": ("Ann",),
    "seán": ("Sean", "Shaun", "Shawn"),
    "siobhán": ("Siobhan", "Shivaun"),
    "zoe": ("Zoë", "Zoey"),
    "chloe": ("Chloë",),
    "rachel": ("Rachael",),
    "nicola": ("Nichola",),
    "sarah": ("Sara",),
    "hannah": ("Hanna",),
    "alan": ("Allan", "Allen"),
    "brian": ("Bryan",),
    "neil": ("Neal",),
    "claire": ("Clare",),
    "jacqueline": ("Jaqueline",),
    "lesley": ("Leslie",),
    "teresa": ("Theresa",),
    "gillian": ("Jillian",),
    "thompson": ("Thomson",),
    "thomson": ("Thompson",),
    "clarke": ("Clark",),
    "clark": ("Clarke",),
    "matthews": ("Mathews",),
    "phillips": ("Philips",),
    "reid": ("Reed", "Read"),
    "macdonald": ("McDonald", "Macdonald"),
    "mcdonald": ("MacDonald",),
    "mckenzie": ("MacKenzie", "Mackenzie"),
    "o'brien": ("OBrien", "O Brien"),
    "o'sullivan": ("OSullivan", "O Sullivan"),
    "o'connor": ("OConnor", "O Connor"),
    "o'neill": ("ONeill", "O'Neil"),
    "o'reilly": ("OReilly", "O'Rielly"),
    "o'doherty": ("Doherty", "ODoherty"),
    "d'angelo": ("DAngelo", "D Angelo"),
    "de luca": ("DeLuca", "Deluca"),
    "de santis": ("DeSantis",),
    "wong": ("Wang",),
    "chan": ("Chen",),
    "lee": ("Li",),
    "li": ("Lee",),
    "cheung": ("Zhang",),
    "kowalski": ("Kowalsky",),
    "wójcik": ("Wojcik", "Voytsik"),
    "andrea": ("Andreas",),
    "yiannis": ("Giannis", "Yannis"),
    "kostas": ("Costas",),
    "georgiou": ("Georgio",),
    "charalambous": ("Charalambos", "Haralambous"),
    "ka wai": ("Ka-Wai", "Kawai"),
    "siu ming": ("Siu-Ming", "Siuming"),
    "chi keung": ("Chi-Keung",),
    "wing hong": ("Wing-Hong",),
    "wing yan": ("Wing-Yan",),
    "mei ling": ("Mei-Ling", "Meiling"),
    "siu wai": ("Siu-Wai",),
    "ka yee": ("Ka-Yee",),
    "pui man": ("Pui-Man",),
    "wai ling": ("Wai-Ling",),
}


def short_form(name: str, rng: random.Random) -> str | None:
    forms = SHORT_FORMS.get(name.lower())
    return rng.choice(forms) if forms else None


def spelling_variant(name: str, rng: random.Random) -> str | None:
    forms = SPELLINGS.get(name.lower())
    return rng.choice(forms) if forms else None
